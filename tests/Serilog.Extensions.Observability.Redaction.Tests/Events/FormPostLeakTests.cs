using Serilog.Extensions.Observability.Redaction.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// Sign-in responses an application logs as text, through the whole documented configuration with the detectors
/// <c>WithObservability()</c> turns on: the page of OpenID Connect's <c>response_mode=form_post</c> (and SAML's POST
/// binding), which carries the credentials in hidden form fields rather than in a query, and a form body whose pairs
/// are separated by more than one <c>&amp;</c>.
/// </summary>
public class FormPostLeakTests
{
    const string Mask = RedactionOptions.DefaultMask;

    static void AsWithObservability(RedactionOptions options)
    {
        options.DetectEmbeddedCredentials = true;
        options.DetectJwts = true;
    }

    static string Log(string text, Action<RedactionOptions>? configure = null) =>
        Capture.AllPiecesOutput(l => l.Information("Response body {Body}", text), configure ?? AsWithObservability);

    // A field's name and value are attributes of one element, in either order and with either quote: the value of a
    // field named as a sensitive form parameter is masked as it is in the body the browser posts.
    [TestCase("<input type=\"hidden\" name=\"code\" value=\"fp-code-1\"/>", "<input type=\"hidden\" name=\"code\" value=\"" + Mask + "\"/>")]
    [TestCase("<input type='hidden' name='id_token' value='fp-idt-2'/>", "<input type='hidden' name='id_token' value='" + Mask + "'/>")]
    [TestCase("<input type=\"hidden\" value=\"fp-state-3\" name=\"state\"/>", "<input type=\"hidden\" value=\"" + Mask + "\" name=\"state\"/>")]
    [TestCase("<INPUT TYPE=hidden NAME=SAMLResponse VALUE=fp-saml-4>", "<INPUT TYPE=hidden NAME=SAMLResponse VALUE=" + Mask + ">")]
    [TestCase("<input name = \"password\" type=\"password\" value = \"fp-pw-5\">", "value = \"" + Mask + "\">")]
    [TestCase("<meta name=\"csrf-token\" content=\"fp-csrf-6\">", "<meta name=\"csrf-token\" content=\"" + Mask + "\">")]
    // The page in a JSON string (an API's response logged as it came), its quotes escaped.
    [TestCase("{\"html\":\"<input type=\\\"hidden\\\" name=\\\"code\\\" value=\\\"fp-code-7\\\"/>\"}", "name=\\\"code\\\" value=\\\"" + Mask + "\\\"/>")]
    // System.Text.Json's default encoder escapes the markup itself (\u003C, \u0022, \u0027, \u003E); a page written over
    // several lines has its line breaks escaped between the attributes (\n).
    [TestCase("{\"html\":\"\\u003Cinput type=\\u0022hidden\\u0022 name=\\u0022code\\u0022 value=\\u0022fp-code-8\\u0022/\\u003E\"}",
        "name=\\u0022code\\u0022 value=\\u0022" + Mask + "\\u0022/\\u003E")]
    [TestCase("{\"html\":\"\\u003cinput name=\\u0027state\\u0027 value=fp-state-9\\u003e\"}", "name=\\u0027state\\u0027 value=" + Mask + "\\u003e")]
    [TestCase("{\"html\":\"<input type=\\\"hidden\\\"\\n  name=\\\"code\\\"\\n  value=\\\"fp-code-10\\\"/>\"}",
        "name=\\\"code\\\"\\n  value=\\\"" + Mask + "\\\"/>")]
    // Alpine.js and Vue leave their event attributes in the page as served (@change, @keyup.enter), before the field's name.
    [TestCase("<input type=\"hidden\" @change=\"dirty = true\" name=\"code\" value=\"fp-code-11\">", "name=\"code\" value=\"" + Mask + "\">")]
    public void TheValueOfAFieldWithASensitiveNameIsMasked(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("fp-"));
        Assert.That(written, Does.Contain(expected.Replace("\\", "\\\\").Replace("\"", "\\\"")));
    }

    // The whole page ASP.NET Core's and other providers' form_post writes: every credential masked, the other fields,
    // the form's action and the markup kept.
    [Test]
    public void AFormPostPageKeepsEverythingButTheCredentials()
    {
        const string page =
            "<html><head><title>Submit</title></head><body onload=\"javascript:document.forms[0].submit()\">" +
            "<form method=\"post\" action=\"https://app.example/signin-oidc\">" +
            "<input type=\"hidden\" name=\"code\" value=\"SplxlOBeZQQYbYS6WxSbIA\"/>" +
            "<input type=\"hidden\" name=\"id_token\" value=\"fp-page-idt\"/>" +
            "<input type=\"hidden\" name=\"state\" value=\"af0ifjsldkj\"/>" +
            "<input type=\"hidden\" name=\"session_state\" value=\"ss.7\"/>" +
            "</form></body></html>";

        var written = Log(page);

        Assert.That(written, Does.Not.Contain("SplxlOBeZQQYbYS6WxSbIA").And.Not.Contain("fp-page-idt").And.Not.Contain("af0ifjsldkj"));
        Assert.That(written, Does.Contain("action=\\\"https://app.example/signin-oidc\\\"")
            .And.Contain("name=\\\"session_state\\\" value=\\\"ss.7\\\"/></form></body></html>"));
    }

    // Ordinary markup: a field named otherwise, and a select whose name is sensitive only as a form parameter (a state,
    // a country's code), are left alone.
    [TestCase("<input type=\"hidden\" name=\"lang\" value=\"en\"/><input name=\"page\" value=\"2\">")]
    [TestCase("<select name=\"state\"><option value=\"CA\">California</option></select>")]
    [TestCase("<select name=\"code\"><option value=\"+47\" selected>Norway</option></select><select name=\"password_policy\"><option>strict</option></select>")]
    [TestCase("<input data-name=\"code\" value=\"42\"> <input name=\"username\" value=\"ann\">")]
    [TestCase("if (a <b && name=\"code\") value=\"x\"")]
    [TestCase("<input [disabled]=\"busy\" (click)=\"go()\" name=\"q\" value=\"search term\"> a <b && c")]
    [TestCase("<input name=\"code\" data-value=\"42\" ng-value=\"x\" valued=\"y\"> <input :name=\"'code'\" value=\"ann\">")]
    [TestCase("<input name=\"code\" :data-value.prop=\"42\" v-bind:title.prop=\"x\">")]
    // Two-way bindings name the member they write back to, never a literal: Blazor's @bind and @bind-value (a literal
    // does not compile), Angular's [(ngModel)]; and an attribute that only ends in bind-value is not Angular's.
    [TestCase("<input name=\"password\" @bind=\"Password\" @bind-value=\"Password\" @bind-value:event=\"oninput\" [(ngModel)]=\"pw\">")]
    [TestCase("<InputText name=\"code\" @bind-Value=\"Model.Code\" /> <input name=\"code\" data-bind-value=\"42\" rebind-value=\"x\">")]
    [TestCase("{\"html\":\"\\u003Cinput name=\\u0022q\\u0022 value=\\u0022search term\\u0022\\u003E\\u003Cmeta name=\\u0022viewport\\u0022 content=\\u0022width=device-width\\u0022\\u003E\"}")]
    [TestCase("{\"expr\":\"a \\u003cb \\u0026\\u0026 c\", \"n\":\"x=1\\u003c\"}")]
    // Markup cut short anywhere (an escaped element ending in "name=", "value=\\", a lone "<") is read to its end.
    [TestCase("{\"html\":\"\\u003cinput name=")]
    [TestCase("{\"html\":\"\\u003cinput name=\\u0022q\\u0022 value=\\")]
    [TestCase("<input name=\"q\" value=\\")]
    [TestCase("x=1 \\u003c")]
    [TestCase("x=1 <")]
    // A textarea named otherwise, one with a sensitive name but nothing in it, and HTML-encoded markup of either kind.
    [TestCase("<textarea name=\"comment\">see code=42 below</textarea><textarea name=\"password\"></textarea>")]
    [TestCase("&lt;input name=&quot;q&quot; value=&quot;search term&quot;&gt;&lt;textarea name=&#34;note&#34;&gt;hi&lt;/textarea&gt;")]
    [TestCase("a &lt; b &amp;&amp; name=&quot;code&quot; value=&quot;x&quot;")]
    [TestCase("&amp;lt;input name=&amp;quot;q&amp;quot; value=&amp;quot;search term&amp;quot;&amp;gt; a &amp;lt; b &amp;amp;&amp;amp; c")]
    // Encoded three times, markup is read as text, as the README says.
    [TestCase("&amp;amp;lt;input name=&amp;amp;quot;code&amp;amp;quot; value=&amp;amp;quot;x&amp;amp;quot;&amp;amp;gt;")]
    [TestCase("&lt;input name=")]
    [TestCase("x=1 &lt;")]
    [TestCase("x=1 &#60")]
    [TestCase("{\"html\":\"Tom \\u0026amp; Jerry \\u0026lt;3 \\u0026lt;input name=\\u0026quot;q\\u0026quot; value=\\u0026quot;x\\u0026quot;\\u0026gt;\"}")]
    [TestCase("{\"path\":\"C:\\\\u0026lt;dir\\u0026gt;\\u0026\"}")]
    public void OrdinaryMarkupKeepsItsValues(string markup)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain(Mask));
    }

    // JSON is not a query: "code" and "state" there are an API's ordinary data and stay readable, as the README says.
    // The credentials of a token response have names that are sensitive anywhere.
    [Test]
    public void InJsonATokenResponseIsMaskedByNameAndAnApisCodeAndStateAreKept()
    {
        var written = Log("{\"access_token\":\"js-at-1\",\"token_type\":\"Bearer\",\"refresh_token\":\"js-rt-1\",\"id_token\":\"js-idt-1\"," +
                          "\"client_secret\":\"js-cs-1\"}\n{\"code\":\"NotFound\",\"state\":\"open\"}");

        Assert.That(written, Does.Not.Contain("js-"));
        Assert.That(written, Does.Contain("\\\"token_type\\\":\\\"Bearer\\\"").And.Contain("{\\\"code\\\":\\\"NotFound\\\",\\\"state\\\":\\\"open\\\"}"));
    }

    // The device authorization grant (RFC 8628): the device polls the token endpoint with its device_code, which is
    // all a public client (a TV, a CLI) needs to receive the user's tokens once they approve, so it is masked by its
    // name wherever it stands (MSAL's DeviceCodeResult.DeviceCode too). The user_code is the short text the device
    // shows the user to type; as a name it is too often an application's own (a user's code in a directory) to be
    // masked anywhere, so it is kept in JSON and as a property, and masked only as a query parameter, where the name
    // is the protocol's (verification_uri_complete).
    [Test]
    public void InJsonADeviceAuthorizationResponsesDeviceCodeIsMaskedAndItsUserCodeKept()
    {
        var written = Log("{\"device_code\":\"dc-GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS\",\"user_code\":\"WDJB-MJHT\"," +
                          "\"verification_uri\":\"https://example.com/device\",\"expires_in\":1800,\"interval\":5}");

        Assert.That(written, Does.Not.Contain("dc-"));
        Assert.That(written, Does.Contain("\\\"device_code\\\":\\\"" + Mask + "\\\"")
            .And.Contain("\\\"user_code\\\":\\\"WDJB-MJHT\\\"").And.Contain("\\\"expires_in\\\":1800"));
    }

    [Test]
    public void ADeviceCodePropertyIsMaskedByItsNameAndAUserCodePropertyIsKept()
    {
        var written = Capture.AllPiecesOutput(
            l => l.Information("Device flow started {DeviceCode} {UserCode} {@Result}", "dc-prop-1", "WDJB-MJHT",
                new { DeviceCode = "dc-prop-2", UserCode = "WDJB-MJHT", ExpiresIn = 900 }),
            AsWithObservability);

        Assert.That(written, Does.Not.Contain("dc-"));
        Assert.That(written, Does.Contain("\"UserCode\":\"WDJB-MJHT\"").And.Contain("\"ExpiresIn\":900"));
    }

    // A textarea's value is its content, not an attribute: a password or secret typed into one (or a code pasted into
    // one) is posted under its name as an input's value is.
    [TestCase("<textarea name=\"password\">ta-pw-1</textarea>", "<textarea name=\"password\">" + Mask + "</textarea>")]
    [TestCase("<textarea rows=\"3\" name=\"client_secret\">ta-cs-2</textarea><p>next</p>", "name=\"client_secret\">" + Mask + "</textarea><p>next</p>")]
    [TestCase("<TEXTAREA NAME=code>ta-code-3</TEXTAREA>", "<TEXTAREA NAME=code>" + Mask + "</TEXTAREA>")]
    [TestCase("<textarea name=\"password\">\nta-pw-4 two words\n</textarea>", "<textarea name=\"password\">" + Mask + "</textarea>")]
    [TestCase("{\"html\":\"\\u003Ctextarea name=\\u0022password\\u0022\\u003Eta-pw-5\\u003C/textarea\\u003E\"}",
        "name=\\u0022password\\u0022\\u003E" + Mask + "\\u003C/textarea\\u003E")]
    [TestCase("{\"html\":\"<textarea name=\\\"code\\\">ta-code-6<\\/textarea>\"}", "name=\\\"code\\\">" + Mask + "<\\/textarea>")]
    // A page cut short inside the content: to the end, as an unclosed value is.
    [TestCase("<textarea name=\"password\">ta-pw-7", "<textarea name=\"password\">" + Mask)]
    public void TheContentOfATextareaWithASensitiveNameIsMasked(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("ta-"));
        Assert.That(written, Does.Contain(expected.Replace("\\", "\\\\").Replace("\"", "\\\"")));
    }

    // A page logged HTML-encoded (a page quoted in an HTML report or error page, or escaped by a logger's own encoder):
    // the element's brackets and quotes are character references, named or numeric, decimal or hexadecimal.
    [TestCase("&lt;input type=&quot;hidden&quot; name=&quot;code&quot; value=&quot;ee-SplxlOBeZQQYbYS6WxSbIA&quot;&gt;",
        "name=&quot;code&quot; value=&quot;" + Mask + "&quot;&gt;")]
    [TestCase("&lt;input name=&#34;state&#34; value=&#34;ee-state-2&#34;/&gt;", "name=&#34;state&#34; value=&#34;" + Mask + "&#34;/&gt;")]
    [TestCase("&#60;input name=&#x22;password&#x22; value=&#x22;ee-pw-3&#x22;&#62;", "value=&#x22;" + Mask + "&#x22;&#62;")]
    [TestCase("&lt;input name=&#39;code&#39; value=&#39;ee-code-4&#39;&gt;", "value=&#39;" + Mask + "&#39;&gt;")]
    [TestCase("&lt;input name=code value=ee-code-5&gt;&lt;input name=q&gt;", "value=" + Mask + "&gt;&lt;input name=q&gt;")]
    [TestCase("&#x3C;meta name=&#x22;csrf-token&#x22; content=&#x22;ee-csrf-6&#x22;&#x3E;", "content=&#x22;" + Mask + "&#x22;&#x3E;")]
    [TestCase("&lt;textarea name=&quot;password&quot;&gt;ee-pw-7&lt;/textarea&gt;", "&gt;" + Mask + "&lt;/textarea&gt;")]
    // References in capitals, with leading zeros, and a value before the name.
    [TestCase("&LT;INPUT NAME=&QUOT;code&QUOT; VALUE=&QUOT;ee-code-11&QUOT;&GT;", "VALUE=&QUOT;" + Mask + "&QUOT;&GT;")]
    [TestCase("&#0060;input name=&#0034;code&#0034; value=&#x0022;ee-code-12&#x0022;&#x003e;", "value=&#x0022;" + Mask + "&#x0022;&#x003e;")]
    [TestCase("&lt;input value=&quot;ee-state-13&quot; type=&quot;hidden&quot; name=&quot;state&quot;&gt;", "value=&quot;" + Mask + "&quot; type=")]
    // In markup written as it is, a reference is part of a value, not its end: value=p&gt;ss is "p>ss", and a textarea
    // holding an encoded end tag has not ended.
    [TestCase("<input name=password value=ee-p&gt;ss-8 type=password>", "value=" + Mask + " type=password>")]
    [TestCase("<input name=password value=&quot;ee-pw-9>", "value=" + Mask + ">")]
    [TestCase("<textarea name=\"password\">ee-a&lt;/textarea&gt;ee-b-10</textarea>", "<textarea name=\"password\">" + Mask + "</textarea>")]
    public void AnHtmlEncodedFieldWithASensitiveNameIsMasked(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("ee-"));
        Assert.That(written, Does.Contain(expected.Replace("\"", "\\\"")));
    }

    // An HTML-encoded page in a JSON string written by System.Text.Json's default encoder, which escapes the references'
    // '&' too (\u0026lt;, \u0026quot;): an API's error response quoting the page it was sent.
    [TestCase("{\"html\":\"\\u0026lt;input name=\\u0026quot;code\\u0026quot; value=\\u0026quot;je-code-1\\u0026quot;\\u0026gt;\"}",
        "name=\\u0026quot;code\\u0026quot; value=\\u0026quot;" + Mask + "\\u0026quot;\\u0026gt;")]
    [TestCase("{\"html\":\"\\u0026#60;input value=\\u0026#34;je-state-2\\u0026#34; name=\\u0026#34;state\\u0026#34;/\\u0026#62;\"}",
        "value=\\u0026#34;" + Mask + "\\u0026#34; name=")]
    [TestCase("{\"html\":\"\\u0026lt;input name=code value=je-code-3\\u0026gt;\\u0026lt;input name=q value=kept\\u0026gt;\"}",
        "value=" + Mask + "\\u0026gt;\\u0026lt;input name=q value=kept\\u0026gt;")]
    [TestCase("{\"html\":\"\\u0026lt;textarea name=\\u0026quot;password\\u0026quot;\\u0026gt;je-pw-4\\u0026lt;/textarea\\u0026gt;\\u0026lt;p\\u0026gt;\"}",
        "\\u0026gt;" + Mask + "\\u0026lt;/textarea\\u0026gt;\\u0026lt;p\\u0026gt;")]
    public void AnHtmlEncodedFieldInAJsonStringIsMasked(string json, string expected)
    {
        var written = Log(json);

        Assert.That(written, Does.Not.Contain("je-"));
        Assert.That(written, Does.Contain(expected.Replace("\\", "\\\\").Replace("\"", "\\\"")));
    }

    // A page encoded twice (an encoded page quoted in an HTML report, an HTML-encoding log viewer's export of one): the
    // references' '&' is itself a reference (&amp;lt;, &#38;quot;, \u0026amp;gt; in a JSON string).
    [TestCase("&amp;lt;input type=&amp;quot;hidden&amp;quot; name=&amp;quot;code&amp;quot; value=&amp;quot;de-code-1&amp;quot;&amp;gt;",
        "name=&amp;quot;code&amp;quot; value=&amp;quot;" + Mask + "&amp;quot;&amp;gt;")]
    [TestCase("&amp;lt;input name=&amp;#34;state&amp;#34; value=&amp;#34;de-state-2&amp;#34;/&amp;gt;", "value=&amp;#34;" + Mask + "&amp;#34;/&amp;gt;")]
    [TestCase("&amp;#60;input name=&amp;#x22;password&amp;#x22; value=&amp;#x22;de-pw-3&amp;#x22;&amp;#62;", "value=&amp;#x22;" + Mask + "&amp;#x22;&amp;#62;")]
    [TestCase("&#38;lt;input name=&#38;quot;code&#38;quot; value=&#38;quot;de-code-4&#38;quot;&#38;gt;", "value=&#38;quot;" + Mask + "&#38;quot;&#38;gt;")]
    [TestCase("&amp;lt;input name=code value=de-code-5&amp;gt;&amp;lt;input name=q value=kept&amp;gt;", "value=" + Mask + "&amp;gt;&amp;lt;input name=q value=kept")]
    [TestCase("&amp;lt;textarea name=&amp;quot;password&amp;quot;&amp;gt;de-pw-6&amp;lt;/textarea&amp;gt;&amp;lt;p&amp;gt;",
        "&amp;gt;" + Mask + "&amp;lt;/textarea&amp;gt;&amp;lt;p&amp;gt;")]
    [TestCase("&amp;lt;select name=&amp;quot;password&amp;quot;&amp;gt;&amp;lt;option&amp;gt;de-pw-7&amp;lt;/option&amp;gt;", "&amp;lt;option&amp;gt;" + Mask + "&amp;lt;/option&amp;gt;")]
    // In a page encoded once, what is encoded twice is a value's own text: it does not end the value (value=a&amp;gt;b
    // is "a&gt;b"), nor a textarea's content.
    [TestCase("&lt;input name=password value=de-a&amp;gt;de-b-8 type=password&gt;", "value=" + Mask + " type=password&gt;")]
    [TestCase("&lt;textarea name=password&gt;de-a&amp;lt;/textarea&amp;gt;de-b-9&lt;/textarea&gt;", "&gt;" + Mask + "&lt;/textarea&gt;")]
    public void AFieldInAPageEncodedTwiceIsMasked(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("de-"));
        Assert.That(written, Does.Contain(expected.Replace("\"", "\\\"")));
    }

    [TestCase("{\"html\":\"\\u0026amp;lt;input name=\\u0026amp;quot;code\\u0026amp;quot; value=\\u0026amp;quot;dj-code-1\\u0026amp;quot;\\u0026amp;gt;\"}",
        "value=\\u0026amp;quot;" + Mask + "\\u0026amp;quot;\\u0026amp;gt;")]
    public void AFieldInAPageEncodedTwiceInAJsonStringIsMasked(string json, string expected)
    {
        var written = Log(json);

        Assert.That(written, Does.Not.Contain("dj-"));
        Assert.That(written, Does.Contain(expected.Replace("\\", "\\\\").Replace("\"", "\\\"")));
    }

    // Browsers use the first of an attribute written twice and a server the first or the last: a log masks every value
    // of a field any of whose names is sensitive.
    [TestCase("<input name=\"password\" value=\"dv-pw-1\" value=\"dv-pw-2\">", "<input name=\"password\" value=\"" + Mask + "\" value=\"" + Mask + "\">")]
    [TestCase("<input value=\"dv-code-3\" name=\"code\" value=\"dv-code-4\"/>", "<input value=\"" + Mask + "\" name=\"code\" value=\"" + Mask + "\"/>")]
    [TestCase("<input name=\"password\" value=\"\" value=\"dv-pw-5\">", "<input name=\"password\" value=\"\" value=\"" + Mask + "\">")]
    [TestCase("<meta name=\"csrf-token\" content=\"dv-csrf-6\" content=\"dv-csrf-7\">", "content=\"" + Mask + "\" content=\"" + Mask + "\">")]
    [TestCase("<input name=\"q\" name=\"password\" value=\"dv-pw-8\">", "<input name=\"q\" name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" name=\"q\" value=\"dv-pw-9\">", "<input name=\"password\" name=\"q\" value=\"" + Mask + "\">")]
    public void EveryValueOfAFieldWithASensitiveNameIsMasked(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("dv-"));
        Assert.That(written, Does.Contain(expected.Replace("\"", "\\\"")));
    }

    // An attribute's name is any run of characters but white space, quotes, '/', '>' and '=' (HTML's tokenizer), so a
    // page a template framework serves or renders on the server keeps its binding and event attributes around the
    // field's name and value: Angular's [disabled], *ngIf, #ref, (click) and [(ngModel)], Vue's :class, v-bind:, v-model
    // and @click.prevent, Alpine's x-on:, Lit's ?disabled, Svelte's on:input|preventDefault={...}.
    [TestCase("<input [disabled]=\"busy\" name=\"password\" value=\"tp-pw-1\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input *ngIf=\"show\" type=\"hidden\" name=\"code\" value=\"tp-code-2\">", "name=\"code\" value=\"" + Mask + "\">")]
    [TestCase("<input #codeField type=\"hidden\" name=\"code\" value=\"tp-code-3\">", "name=\"code\" value=\"" + Mask + "\">")]
    [TestCase("<input (click)=\"go()\" name=\"state\" value=\"tp-state-4\">", "name=\"state\" value=\"" + Mask + "\">")]
    [TestCase("<input [(ngModel)]=\"model.code\" name=\"code\" value=\"tp-code-5\">", "name=\"code\" value=\"" + Mask + "\">")]
    [TestCase("<input :class=\"{ bad: error }\" v-bind:title=\"hint\" name=\"password\" value=\"tp-pw-6\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input v-model=\"form.password\" @click.prevent=\"noop\" name=\"password\" value=\"tp-pw-7\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input x-on:input.debounce.500ms=\"check\" name=\"password\" value=\"tp-pw-8\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input ?disabled=\"busy\" name=\"password\" value=\"tp-pw-9\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input on:input|preventDefault={handle} name=\"password\" value=\"tp-pw-10\">", "name=\"password\" value=\"" + Mask + "\">")]
    // Between the name and the value, on a textarea, in a JSON string and HTML-encoded.
    [TestCase("<input name=\"code\" (blur)=\"touched()\" value=\"tp-code-11\">", "(blur)=\"touched()\" value=\"" + Mask + "\">")]
    [TestCase("<textarea [rows]=\"3\" name=\"password\">tp-pw-12</textarea>", "name=\"password\">" + Mask + "</textarea>")]
    [TestCase("{\"html\":\"<input [disabled]=\\\"busy\\\" name=\\\"code\\\" value=\\\"tp-code-13\\\">\"}", "name=\\\"code\\\" value=\\\"" + Mask + "\\\">")]
    [TestCase("&lt;input (click)=&quot;go()&quot; name=&quot;code&quot; value=&quot;tp-code-14&quot;&gt;", "name=&quot;code&quot; value=&quot;" + Mask + "&quot;&gt;")]
    [TestCase("<input name=\"password\" [(ngModel)]=\"pw\" (ngModelChange)=\"pw = $event\" value=\"tp-pw-15\">", "(ngModelChange)=\"pw = $event\" value=\"" + Mask + "\">")]
    [TestCase("<input name=password [(ngModel)]=pw value=tp-pw-16>", "[(ngModel)]=pw value=" + Mask + ">")]
    // Svelte's and JSX's spread and shorthand attributes, braces and all.
    [TestCase("<input {...rest} name=\"password\" value=\"tp-pw-17\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input {disabled} name=\"password\" value=\"tp-pw-18\">", "name=\"password\" value=\"" + Mask + "\">")]
    // A server template's own markup inside the tag (Handlebars, Jinja).
    [TestCase("<input {{#if busy}}disabled{{/if}} name=\"password\" value=\"tp-pw-19\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input {% if busy %}disabled{% endif %} name=\"password\" value=\"tp-pw-20\">", "name=\"password\" value=\"" + Mask + "\">")]
    // A spread, a server template's tag or ${...} where a name goes is read whole, whatever spaces, commas, quotes or
    // braces it holds (a code block is script's: see CodeAfterALessThanThatOpensNoElementKeepsItsValues).
    [TestCase("<input { ...rest } name=\"password\" value=\"tp-pw-21\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input {...{ id: 'pw', required: true }} name=\"password\" value=\"tp-pw-22\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input {...rest, ...more} name=\"code\" value=\"tp-code-23\">", "name=\"code\" value=\"" + Mask + "\">")]
    [TestCase("<input ${ disabled ? 'disabled' : '' } name=\"password\" value=\"tp-pw-24\">", "name=\"password\" value=\"" + Mask + "\">")]
    // Elements are named with letters, digits, '-', '_', '.' and ':' (custom elements, JSX's members, Svelte's own),
    // and a template's tag may stand in the name or end one ("{{", "${").
    [TestCase("<my-field name=\"password\" value=\"tp-pw-25\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<Form.Input name=\"password\" value=\"tp-pw-26\" /><svelte:element this=\"input\" name=\"code\" value=\"tp-code-27\">",
        "<svelte:element this=\"input\" name=\"code\" value=\"" + Mask + "\">")]
    [TestCase("<input{{#if busy}} disabled{{/if}} name=\"password\" value=\"tp-pw-28\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input data-{{ key }}=\"k\" name=\"password\" value=\"tp-pw-29\">", "name=\"password\" value=\"" + Mask + "\">")]
    // The name is what comes before the template's tag, whatever the tag holds (Jinja's xmlattr filter, which writes its
    // own leading space; Lit's spread directive; Twig's attribute methods), and a textarea's or a select's is read so too.
    [TestCase("<input{{attrs|xmlattr}} name=\"password\" value=\"tp-pw-30\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input${spread(props)} name=\"code\" value=\"tp-code-31\">", "name=\"code\" value=\"" + Mask + "\">")]
    [TestCase("<input{{attributes.addClass(classes)}} name=\"password\" value=\"tp-pw-32\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<textarea{{ attrs }} name=\"password\">tp-pw-33</textarea>", "name=\"password\">" + Mask + "</textarea>")]
    [TestCase("<select{{#if busy}} disabled{{/if}} name=\"password\"><option value=\"tp-pw-34\">a</option></select>", "<option value=\"" + Mask + "\">")]
    // A template's block in single braces (Smarty's, Latte's, Svelte's) around an attribute: its '{' before "/if" closes
    // it and is no code block's, glued to the attribute or not.
    [TestCase("<input name=\"password\" {if $locked}readonly{/if} value=\"tp-pw-35\">", "{/if} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"code\"{if $x} disabled{/if} value=\"tp-code-36\">", "{/if} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" {if $x}checked=\"checked\"{/if} value=\"tp-pw-37\">", "{/if} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" {#if locked} readonly {/if} value=\"tp-pw-38\">", "{/if} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" {...rest}{/if} value=\"tp-pw-39\">", "{/if} value=\"" + Mask + "\">")]
    // Only a ')' or a word ends a name with a code block's '{' (c){, else{): another template's sigil opens one (#{, @{).
    [TestCase("<input name=\"password\" #{ attrs} value=\"tp-pw-40\">", "#{ attrs} value=\"" + Mask + "\">")]
    // JSX's comment where an attribute goes, braces and all.
    [TestCase("<input {/* autoFocus */} name=\"password\" value=\"tp-pw-41\" />", "*/} name=\"password\" value=\"" + Mask + "\" />")]
    [TestCase("<input name=\"password\" { /* disabled */ } value=\"tp-pw-42\">", "*/ } value=\"" + Mask + "\">")]
    // Other templates' blocks and comments where an attribute goes, glued or spaced, are read on: Go's, Jinja's and
    // Twig's, Blade's and Handlebars' comments, Smarty's and Svelte's else in single braces (a '{' after a word that
    // closes a block is no code block's), and one in a page held in a JSON string or HTML-encoded.
    [TestCase("<input name=\"password\" {{if .Locked}}readonly{{end}} value=\"tp-pw-43\">", "{{end}} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" {{- /* go */ -}} {{range .A}}{{.}}{{end}} value=\"tp-pw-44\">", "{{end}} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" {# twig #} {% raw %}{% endraw %} value=\"tp-pw-45\">", "{% endraw %} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" {{-- blade --}} {{!-- hbs --}} {*smarty*} value=\"tp-pw-46\">", "*} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" {if $a}x=\"y\"{else}x=\"z\"{/if} value=\"tp-pw-47\">", "{/if} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" {#if a}readonly{:else}disabled{/if} value=\"tp-pw-48\">", "{/if} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" {if $a}readonly{elseif $b}disabled{/if} value=\"tp-pw-49\">", "{/if} value=\"" + Mask + "\">")]
    [TestCase("<input{if $x} readonly{/if} name=\"password\" value=\"tp-pw-50\">", "name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<textarea name=\"password\" {if $x}readonly{/if}>tp-pw-51</textarea>", "{/if}>" + Mask + "</textarea>")]
    [TestCase("{\"html\":\"\\u003Cinput name=\\u0022password\\u0022 {if $x}readonly{/if} value=\\u0022tp-pw-52\\u0022\\u003E\"}", "value=\\u0022" + Mask + "\\u0022")]
    [TestCase("&lt;input name=&quot;password&quot; {{#if x}}readonly{{/if}} value=&quot;tp-pw-53&quot;&gt;", "value=&quot;" + Mask + "&quot;")]
    // Framework attributes whose names or values hold '(', ')', ',', ';', '|', '{' or '}', before or after the name.
    [TestCase("<input name=\"password\" on:click|once|preventDefault={() => {a(); b()}} value=\"tp-pw-54\">", "}} value=\"" + Mask + "\">")]
    [TestCase("<input style={{color: 'red'}} onChange={(e) => { set(e.target.value); }} name=\"password\" value=\"tp-pw-55\" />",
        "name=\"password\" value=\"" + Mask + "\" />")]
    [TestCase("<input name=\"password\" @click=\"a(); b()\" v-on:input=\"a(), b()\" (input)=\"a($event); b()\" value=\"tp-pw-56\">",
        "b()\" value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" @onclick=\"@(() => Go(1))\" *ngIf=\"x; else y\" a(b)c a|b=\"1\" value=\"tp-pw-57\">", "value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" hx-vals='{\"a\": 1}' th:field=\"*{password}\" [[${x}]] data-{$k} value=\"tp-pw-58\">", "value=\"" + Mask + "\">")]
    // An HTML comment where an attribute goes (an attribute commented out in a JSP, PHP or ERB page, which passes the
    // comment on) is read whole, in markup as it is, in a JSON string and HTML-encoded.
    [TestCase("<input type=\"hidden\" <!-- disabled --> name=\"password\" value=\"tp-pw-59\">", "--> name=\"password\" value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" <!--readonly--> value=\"tp-pw-60\">", "--> value=\"" + Mask + "\">")]
    [TestCase("{\"html\":\"\\u003Cinput name=\\u0022code\\u0022 \\u003C!-- x --\\u003E value=\\u0022tp-code-61\\u0022\\u003E\"}", "value=\\u0022" + Mask + "\\u0022")]
    [TestCase("&lt;input name=&quot;code&quot; &lt;!-- x --&gt; value=&quot;tp-code-62&quot;&gt;", "value=&quot;" + Mask + "&quot;")]
    public void AFieldWhoseElementHasTemplateAttributesIsMasked(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("tp-"));
        Assert.That(written, Does.Contain(expected.Replace("\\", "\\\\").Replace("\"", "\\\"")));
    }

    // A value bound by a template framework is the field's value too, set by the expression: a page rendered on the
    // server may write the secret into it (Laravel with Alpine.js or Vue: :value="'...'"). Another attribute whose name
    // ends in "value" is not the field's (data-value), nor is a name bound by an expression.
    [TestCase("<input type=\"hidden\" name=\"code\" :value=\"'bv-code-1'\">", "name=\"code\" :value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" v-bind:value=\"'bv-pw-2'\">", "v-bind:value=\"" + Mask + "\">")]
    [TestCase("<input name=\"state\" x-bind:value=\"'bv-state-3'\">", "x-bind:value=\"" + Mask + "\">")]
    [TestCase("<input name=\"code\" [value]=\"'bv-code-4'\">", "[value]=\"" + Mask + "\">")]
    [TestCase("<input name=\"code\" [attr.value]=\"'bv-code-5'\">", "[attr.value]=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" .value=${'bv-pw-6'}>", ".value=" + Mask + ">")]
    [TestCase("<input name=\"password\" bind:value={'bv-pw-7'}>", "bind:value=" + Mask + ">")]
    [TestCase("<meta name=\"csrf-token\" :content=\"'bv-csrf-8'\">", ":content=\"" + Mask + "\">")]
    // Vue's modifiers after the bound name: .prop sets the DOM property, .attr the attribute.
    [TestCase("<input name=\"password\" :value.prop=\"'bv-pw-9'\">", ":value.prop=\"" + Mask + "\">")]
    [TestCase("<input name=\"code\" v-bind:value.attr=\"'bv-code-10'\">", "v-bind:value.attr=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" v-bind:value=\"bv-pw-11\">", "v-bind:value=\"" + Mask + "\">")]
    // Angular's canonical form of [value] and [attr.value], bind-value and bind-attr.value.
    [TestCase("<input name=\"password\" bind-value=\"'bv-pw-12'\">", "bind-value=\"" + Mask + "\">")]
    [TestCase("<input name=\"code\" BIND-VALUE=\"'bv-code-13'\">", "BIND-VALUE=\"" + Mask + "\">")]
    [TestCase("<input name=\"code\" bind-attr.value=\"'bv-code-14'\">", "bind-attr.value=\"" + Mask + "\">")]
    [TestCase("<meta name=\"csrf-token\" bind-content=\"'bv-csrf-15'\">", "bind-content=\"" + Mask + "\">")]
    public void AValueBoundByATemplateFrameworkIsMasked(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("bv-"));
        Assert.That(written, Does.Contain(expected.Replace("\"", "\\\"")));
    }

    // A template's expression in braces is one value whatever it holds (Svelte's on:input={() => x}, JSX's onChange={e =>
    // ...}, Lit's ${...}): an arrow's '>', a comparison's '>' and the spaces in it do not end the element or its value,
    // so the field's value after it is read. One not closed before the next element (or within 256 characters) is read
    // as an unquoted value, to white space.
    [TestCase("<input name=\"password\" on:input={() => x} value=\"ex-pw-1\">", "on:input={() => x} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" onChange={e => setPw(e.target.value)} value=\"ex-pw-2\" />", "value=\"" + Mask + "\" />")]
    [TestCase("<input name=\"code\" on:click={() => n > 0 && go()} value=\"ex-code-3\">", "value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" disabled={a>b} value=\"ex-pw-4\">", "disabled={a>b} value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" .value=${a > b ? 'ex-pw-5' : ''}>", ".value=" + Mask + ">")]
    [TestCase("<input name=\"password\" value={a > b ? '' : 'ex-pw-6'}>", "value=" + Mask + ">")]
    [TestCase("<input name=\"code\" on:input={() => { a = b > c }} value=\"ex-code-7\">", "value=\"" + Mask + "\">")]
    [TestCase("<textarea name=\"password\" on:input={() => x}>ex-pw-8</textarea>", "on:input={() => x}>" + Mask + "</textarea>")]
    [TestCase("&lt;input name=&quot;password&quot; on:input={() =&gt; x} value=&quot;ex-pw-9&quot;&gt;", "value=&quot;" + Mask + "&quot;&gt;")]
    [TestCase("{\"html\":\"\\u003Cinput name=\\u0022password\\u0022 on:input={() =\\u003E x} value=\\u0022ex-pw-10\\u0022\\u003E\"}",
        "value=\\u0022" + Mask + "\\u0022\\u003E")]
    [TestCase("<b title={ <input name=\"password\" value=\"ex-pw-11\">", "value=\"" + Mask + "\">")]
    public void AFieldWhoseElementHasAnExpressionInBracesIsMasked(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("ex-"));
        Assert.That(written, Does.Contain(expected.Replace("\\", "\\\\").Replace("\"", "\\\"")));
    }

    // An unquoted value that only opens with braces goes on to white space or the element's end, as any unquoted one:
    // a password stored with its scheme in braces (Spring Security's {noop} and {bcrypt}, LDAP's {SSHA}) is one value,
    // and so is an expression whose string holds a brace, and the field's value after it is still read.
    [TestCase("<input type=hidden name=password value={noop}ub-pw-1>", "value=" + Mask + ">")]
    [TestCase("<input name=userPassword value={SSHA}ub-pw-2/9a+Zx==>", "value=" + Mask + ">")]
    [TestCase("<input name=password value=${scheme}ub-pw-3 type=hidden>", "value=" + Mask + " type=hidden>")]
    [TestCase("<input name=\"password\" title={\"}\"} value=\"ub-pw-4\">", "value=\"" + Mask + "\">")]
    [TestCase("<input name=\"password\" on:click={() => f('}')} value=\"ub-pw-5\">", "value=\"" + Mask + "\">")]
    [TestCase("{\"html\":\"\\u003Cinput name=\\u0022code\\u0022 value={noop}ub-code-6\\u003E\"}", "value=" + Mask + "\\u003E")]
    // An element closed right after the braces (JSX's and Svelte's <input value={pw}/>) keeps its '/'.
    [TestCase("<input name=\"password\" value={'ub-pw-7'}/>", "value=" + Mask + "/>")]
    [TestCase("<input name=\"password\" .value=${'ub-pw-8'}/><p>", ".value=" + Mask + "/><p>")]
    [TestCase("{\"html\":\"\\u003Cinput name=\\u0022code\\u0022 value={'ub-code-9'}/\\u003E\"}", "value=" + Mask + "/\\u003E")]
    [TestCase("&lt;input name=&quot;code&quot; value={'ub-code-10'}/&gt;", "value=" + Mask + "/&gt;")]
    [TestCase("{\"html\":\"<input name=\\\"password\\\" value={'ub-pw-11'}\\/>\"}", "value=" + Mask + "\\/>")]
    public void AnUnquotedValueThatOpensWithBracesIsReadToItsEnd(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("ub-"));
        Assert.That(written, Does.Contain(expected.Replace("\\", "\\\\").Replace("\"", "\\\"")));
    }

    // Script with a '<' that opens no element (a comparison) is read as one up to the next '<' or '>', as HTML's
    // tokenizer would read it, but code is not markup: a lone brace (a block's, not a template's {...rest} or
    // {{#if x}}) ends it, so a variable named name or value further on is no field's. A ';' or ',' does not: HTML
    // reads them as part of a name, and a browser takes the value of <input name="code", value="...">.
    [TestCase("<script>if (a <b || c) { go(); } var name = \"code\", value = \"42\";</script>")]
    [TestCase("<script>if (a <b || c) { name = \"code\"; value = \"42\"; }</script>")]
    [TestCase("if (a <b || c)\n{\n  form.submit();\n}\nlet name=\"code\"\nlet value=\"42\"")]
    [TestCase("if (a <b || c) { return; }\n name=\"code\" value=\"42\"")]
    [TestCase("<script>if (a <b || c) { go() }\nlet name=\"code\"\nlet value=\"42\"</script>")]
    [TestCase("<script>if (a <b || c) { go(); }</script><p>x</p><input name=\"q\" value=\"42\">")]
    // No element is named with a parenthesis, a bracket, a ';' or a ',': what follows is an expression's operand.
    [TestCase("if (n <max) f(x, name=\"code\", value=\"42\")")]
    [TestCase("ok = a <b; name = \"code\"; value = \"42\";")]
    [TestCase("if (i <list[n]) f(x, name=\"code\", value=\"42\")")]
    [TestCase("f(a <b, name=\"code\", value=\"42\")")]
    // A '{' that ends a name after a ')' or a word opens a code block as a lone one does, a comment in it too (a
    // template's opens "{{", "${" or "#{", or ends a block, "{/if}").
    [TestCase("<script>if (a <b || c){ name = \"code\"; value = \"42\"; }</script>")]
    [TestCase("while (a <b || !done){ name=\"code\"; value=\"42\" }")]
    [TestCase("if (a <b || c) x(); else{ name = \"code\"; value = \"42\"; }")]
    [TestCase("if (a <b || c){/* go */ name = \"code\"; value = \"42\"; }")]
    [TestCase("if (a <b || c){// go\n name = \"code\"; value = \"42\"; }")]
    [TestCase("if (a <b || c) {/* go */ name = \"code\"; value = \"42\"; }")]
    public void CodeAfterALessThanThatOpensNoElementKeepsItsValues(string script)
    {
        var written = Log(script);

        Assert.That(written, Does.Not.Contain(Mask));
    }

    // Markup that script builds after a comparison's '<' is read: the '<' opens no element that would read the string
    // holding the markup as one of its values, and the field in it is found.
    [TestCase("for (i = 0; i <n; i++) html += '<input name=\"password\" value=\"sb-pw-1\">';", "value=\"" + Mask + "\">")]
    [TestCase("if (a <b) html = \"<input type=hidden name=code value=sb-code-2>\";", "value=" + Mask + ">")]
    public void MarkupThatScriptBuildsAfterAComparisonIsMasked(string script, string expected)
    {
        var written = Log(script);

        Assert.That(written, Does.Not.Contain("sb-"));
        Assert.That(written, Does.Contain(expected.Replace("\\", "\\\\").Replace("\"", "\\\"")));
    }

    // A ',' or ';' between attributes is part of a name to HTML's tokenizer (an attribute named ',' or ';x'), and the
    // element's value is still the one a browser posts.
    [TestCase("<input name=\"code\", value=\"cs-code-1\">", "value=\"" + Mask + "\">")]
    [TestCase("<input type=hidden name=password ;x value=cs-pw-2>", "value=" + Mask + ">")]
    [TestCase("<input srcset=a.png 1x, b.png 2x name=password value=cs-pw-3>", "value=" + Mask + ">")]
    [TestCase("<input name=\"password\"; value=\"cs-pw-4\">", "value=\"" + Mask + "\">")]
    // Markup a browser reads otherwise (an attribute named ",value") is still what its writer meant: the separator glued to
    // the next attribute, or no space at all after a quoted value.
    [TestCase("<input name=\"password\",value=\"cs-pw-5\">", "<input name=\"password\",value=\"" + Mask + "\">")]
    [TestCase("<input type=\"hidden\" value=\"cs-code-6\";name=\"code\">", "value=\"" + Mask + "\";name=\"code\">")]
    [TestCase("<input name='password'value='cs-pw-7'>", "<input name='password'value='" + Mask + "'>")]
    [TestCase("<input name=\"password\" ,value=\"cs-pw-8\"/>", " ,value=\"" + Mask + "\"/>")]
    [TestCase("{\"html\":\"\\u003Cinput name=\\u0022code\\u0022,value=\\u0022cs-code-9\\u0022\\u003E\"}", ",value=\\u0022" + Mask + "\\u0022\\u003E")]
    [TestCase("&lt;input name=&quot;password&quot;,value=&quot;cs-pw-10&quot;&gt;", ",value=&quot;" + Mask + "&quot;&gt;")]
    public void AFieldWithACommaOrSemicolonBetweenItsAttributesIsMasked(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("cs-"));
        Assert.That(written, Does.Contain(expected.Replace("\\", "\\\\").Replace("\"", "\\\"")));
    }

    // A select's value is the value of its chosen option (or that option's text when it has no value), on other
    // elements than its name: every option of a select whose name is sensitive anywhere (a password, an API key to pick
    // from) is masked, whichever is selected, up to the select's end tag. A name sensitive only as a form parameter is
    // an ordinary list's (a state, a country's code) and keeps its options, as below.
    [TestCase("<select name=\"password\"><option value=\"sl-pw-1\">One</option><option value=\"sl-pw-2\" selected>Two</option></select>",
        "<option value=\"" + Mask + "\">One</option><option value=\"" + Mask + "\" selected>Two</option></select>")]
    [TestCase("<select name=\"api_key\"><option>sl-key-3</option><option selected>\n  sl-key-4\n</option></select>",
        "<option>" + Mask + "</option><option selected>" + Mask + "</option></select>")]
    [TestCase("<select id=\"k\" name=\"client_secret\" required>\n  <optgroup label=\"Production\"><option value=\"sl-cs-5\" selected>prod</option></optgroup>\n</select>",
        "<optgroup label=\"Production\"><option value=\"" + Mask + "\" selected>prod</option></optgroup>")]
    [TestCase("&lt;select name=&quot;password&quot;&gt;&lt;option selected&gt;sl-pw-6&lt;/option&gt;&lt;/select&gt;",
        "&lt;option selected&gt;" + Mask + "&lt;/option&gt;&lt;/select&gt;")]
    [TestCase("<select name=\"password\"><option value=sl-pw-7>x</select><select name=\"size\"><option value=\"L\">Large</option></select>",
        "<option value=" + Mask + ">x</select><select name=\"size\"><option value=\"L\">Large</option></select>")]
    // A page cut short inside the select: to the end.
    [TestCase("<select name=\"password\"><option value=\"sl-pw-8\">x</option><option>sl-pw-9", "<option>" + Mask)]
    public void EveryOptionOfASelectWithASensitiveNameIsMasked(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("sl-"));
        Assert.That(written, Does.Contain(expected.Replace("\n", "\\n").Replace("\"", "\\\"")));
    }

    // HTML's parser ends a select that is still open at an input, a textarea (or a keygen) field: a page whose select has
    // no end tag keeps the options of a later list (a datalist's suggestions), while those before are masked.
    [TestCase("<select name=\"password\"><option>sc-pw-1</option><input name=\"q\" list=\"c\"><datalist id=\"c\"><option value=\"red\"></datalist>",
        "<input name=\"q\" list=\"c\"><datalist id=\"c\"><option value=\"red\"></datalist>")]
    [TestCase("<select name=\"api_key\"><option value=\"sc-key-2\"><textarea name=\"notes\">hi</textarea><datalist><option>blue</option></datalist>",
        "<textarea name=\"notes\">hi</textarea><datalist><option>blue</option></datalist>")]
    [TestCase("&lt;select name=&quot;password&quot;&gt;&lt;option&gt;sc-pw-3&lt;INPUT list=c&gt;&lt;datalist&gt;&lt;option&gt;green&lt;/option&gt;",
        "&lt;INPUT list=c&gt;&lt;datalist&gt;&lt;option&gt;green&lt;/option&gt;")]
    public void ASelectWithoutItsEndTagEndsAtTheNextInputOrTextarea(string markup, string expected)
    {
        var written = Log(markup);

        Assert.That(written, Does.Not.Contain("sc-"));
        Assert.That(written, Does.Contain(expected.Replace("\"", "\\\"")));
    }

    [TestCase("{\"html\":\"\\u003Cselect name=\\u0022password\\u0022\\u003E\\u003Coption value=\\u0022sj-pw-1\\u0022 selected\\u003EA\\u003C/option\\u003E\\u003C/select\\u003E\"}",
        "\\u003Coption value=\\u0022" + Mask + "\\u0022 selected\\u003EA\\u003C/option\\u003E")]
    [TestCase("{\"html\":\"<select name=\\\"password\\\"><option>sj-pw-2<\\/option><\\/select><select><option>kept</option></select>\"}",
        "<option>" + Mask + "<\\/option><\\/select><select><option>kept</option></select>")]
    [TestCase("{\"html\":\"\\u0026lt;select name=\\u0026quot;api_key\\u0026quot;\\u0026gt;\\u0026lt;option\\u0026gt;sj-key-3\\u0026lt;/option\\u0026gt;\"}",
        "\\u0026lt;option\\u0026gt;" + Mask + "\\u0026lt;/option\\u0026gt;")]
    public void EveryOptionOfASelectWithASensitiveNameInAJsonStringIsMasked(string json, string expected)
    {
        var written = Log(json);

        Assert.That(written, Does.Not.Contain("sj-"));
        Assert.That(written, Does.Contain(expected.Replace("\\", "\\\\").Replace("\"", "\\\"")));
    }

    // A body built by joining pairs with an empty one between them ("code=x&&state=y"): the first key is a form
    // body's as it is with a single '&'.
    [TestCase("code=dd-code-1&&state=dd-state-1", "code=" + Mask + "&&state=" + Mask)]
    [TestCase("token request body code=dd-code-2&&&client_id=web failed", "code=" + Mask + "&&&client_id=web failed")]
    [TestCase("<Body>nonce=dd-nonce-3&amp;&amp;client_id=web</Body>", "nonce=" + Mask + "&amp;&amp;client_id=web</Body>")]
    public void AFormBodysFirstKeyBeforeARepeatedSeparatorIsMasked(string body, string expected)
    {
        var written = Log(body);

        Assert.That(written, Does.Not.Contain("dd-"));
        Assert.That(written, Does.Contain(expected));
    }
}
